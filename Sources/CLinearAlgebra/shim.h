// The C interfaces of BLAS and LAPACK, as Debian ships them (libblas-dev, liblapack-dev,
// liblapacke-dev). Nothing else belongs here: the Swift face lives in LinearAlgebra.
#ifndef CLIENTELE_CLINEARALGEBRA_SHIM_H
#define CLIENTELE_CLINEARALGEBRA_SHIM_H
#include <cblas.h>
#include <lapacke.h>
#endif
