#ifndef LANDCOVER_COPENBLAS_SHIM_H
#define LANDCOVER_COPENBLAS_SHIM_H

// Debian puts OpenBLAS's own cblas.h (with openblas_set_num_threads) in
// /usr/include/x86_64-linux-gnu/openblas-pthread/, which `pkg-config openblas` adds to the include path.
#include <cblas.h>

#endif
