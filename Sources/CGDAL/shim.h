#ifndef LANDCOVER_CGDAL_SHIM_H
#define LANDCOVER_CGDAL_SHIM_H

#ifndef _LARGEFILE64_SOURCE
#define _LARGEFILE64_SOURCE 1
#endif
#include <sys/stat.h>

#include <gdal.h>
#include <gdal_alg.h>
#include <gdal_utils.h>
#include <gdalwarper.h>
#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>

/// Whether a path, real or GDAL-virtual (/vsizip/...), exists. VSIStatBufL is a platform typedef Swift cannot name.
static inline int landcover_path_exists(const char *path) {
    VSIStatBufL buffer;
    return VSIStatL(path, &buffer) == 0;
}

#endif
