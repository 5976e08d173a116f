#include "mutex.h"

__thread unsigned mutex_depth __attribute__((tls_model("initial-exec")));
