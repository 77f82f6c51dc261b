/// Land-cover map products: writing, styling, cataloguing and comparing class rasters.
public enum Mapping {}
