// This target only carries include/flashrnn_params.h; SwiftPM needs one source file.
#include "flashrnn_params.h"
