/// Facts about this build of landcover.
public enum LandCover {
    /// The version written into chip stores, checkpoints and map metadata.
    public static let version = "0.1.0"
}
