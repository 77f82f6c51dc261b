/// Land-cover map products: writing, styling, cataloguing, generalising and comparing class rasters.
public enum Mapping {}
