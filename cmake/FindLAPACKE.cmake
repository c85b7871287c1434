# FindLAPACKE.cmake — LAPACK's C interface (Debian: liblapacke-dev), as the imported target
# LAPACKE::LAPACKE. It links LAPACK::LAPACK (which brings BLAS::BLAS), so LAPACKE's Fortran calls
# resolve to the LAPACK that find_package(LAPACK) chose (OpenBLAS's, where installed).
#
# Sets LAPACKE_FOUND, LAPACKE_INCLUDE_DIR and LAPACKE_LIBRARY. Used both when building tapir and by
# the installed tapirConfig.cmake, so the exported target names no absolute library path.
find_path(LAPACKE_INCLUDE_DIR lapacke.h PATH_SUFFIXES lapacke)
find_library(LAPACKE_LIBRARY lapacke)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(LAPACKE REQUIRED_VARS LAPACKE_LIBRARY LAPACKE_INCLUDE_DIR)
mark_as_advanced(LAPACKE_INCLUDE_DIR LAPACKE_LIBRARY)

if(LAPACKE_FOUND AND NOT TARGET LAPACKE::LAPACKE)
  if(NOT TARGET LAPACK::LAPACK)
    find_package(LAPACK QUIET)
  endif()
  add_library(LAPACKE::LAPACKE UNKNOWN IMPORTED)
  set_target_properties(LAPACKE::LAPACKE PROPERTIES
    IMPORTED_LOCATION "${LAPACKE_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${LAPACKE_INCLUDE_DIR}")
  if(TARGET LAPACK::LAPACK)
    set_property(TARGET LAPACKE::LAPACKE PROPERTY INTERFACE_LINK_LIBRARIES LAPACK::LAPACK)
  endif()
endif()
