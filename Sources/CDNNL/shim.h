#ifndef LANDCOVER_CDNNL_SHIM_H
#define LANDCOVER_CDNNL_SHIM_H

#include <dnnl.h>
#include <dnnl_debug.h>

/// Debian's oneDNN runs on GNU OpenMP (libgomp). Declared here rather than through <omp.h>, which lives in GCC's
/// private include directory. Sets the thread count of the calling thread's next parallel regions.
void omp_set_num_threads(int count);

/// The oneDNN convenience macro DNNL_MEMORY_ALLOCATE, which Swift cannot import: asks dnnl_memory_create to allocate.
static inline void *landcover_dnnl_memory_allocate(void) {
    return DNNL_MEMORY_ALLOCATE;
}

#endif
