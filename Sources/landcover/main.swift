import LandCoverCLI

LandCoverCommand.main()
