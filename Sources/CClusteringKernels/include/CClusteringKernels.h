#ifndef CLIENTELE_CLUSTERING_KERNELS_H
#define CLIENTELE_CLUSTERING_KERNELS_H

#include "relabel.h"
#include "seeding.h"

#endif
