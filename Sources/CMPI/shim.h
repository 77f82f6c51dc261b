#ifndef LANDCOVER_CMPI_SHIM_H
#define LANDCOVER_CMPI_SHIM_H

#include <mpi.h>

// Open MPI defines its predefined handles as casts of addresses of global objects (MPI_COMM_WORLD is
// `(MPI_Comm) &ompi_mpi_comm_world`) and MPI_IN_PLACE as a cast integer: Swift imports neither, so each gets a
// function returning it.

static inline MPI_Comm landcover_mpi_comm_world(void) { return MPI_COMM_WORLD; }

static inline MPI_Datatype landcover_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype landcover_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype landcover_mpi_int(void) { return MPI_INT; }
static inline MPI_Datatype landcover_mpi_byte(void) { return MPI_BYTE; }

static inline MPI_Op landcover_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op landcover_mpi_max(void) { return MPI_MAX; }

static inline void *landcover_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Status *landcover_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline MPI_Errhandler landcover_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }

static inline int landcover_mpi_success(void) { return MPI_SUCCESS; }
static inline int landcover_mpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }
static inline int landcover_mpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }

#endif
