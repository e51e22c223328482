#ifndef MFA_CZEROMQ_SHIM_H
#define MFA_CZEROMQ_SHIM_H
#include <zmq.h>
#endif
