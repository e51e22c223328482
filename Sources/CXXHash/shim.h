#ifndef MFA_CXXHASH_SHIM_H
#define MFA_CXXHASH_SHIM_H
#include <xxhash.h>
#endif
