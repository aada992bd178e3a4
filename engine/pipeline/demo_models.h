/* demo_models.h — tiny, randomly initialised models in the real layouts, so a
 * newcomer can watch the whole pipeline run before downloading 40 GB. They are
 * untrained: their images are noise, and every folder says so in a README. */
#pragma once

#include "thinkdiff.h"

/* td_demo_models_write and td_demo_tokenizers_dir are public: see thinkdiff-models.h. */
