/* model_fork.c: placeholder until written. */
#include "config.h"
