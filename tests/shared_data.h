/* shared_data.h - opening what tests need from ../shared. A helper whose file is missing
 * skips the running test (the reason names the file, as NEED_FILE does); one whose file
 * does not load fails it with the loader's message. Either way it returns NULL, so a test
 * reads: model *m = shared_model(STORIES); if (!m) return; */
#ifndef SCARCE_SHARED_DATA_H
#define SCARCE_SHARED_DATA_H

#include "../engine/gguf.h"
#include "../engine/model.h"
#include "../engine/tokenizer.h"

/* A real model fetched by models/fetch.sh: $SCARCE_MODELS/file, else models/file; NULL
 * when neither exists (the returned buffer is reused by the next call). */
const char *real_model_path(const char *file);

/* The model ../shared/relative, with the kernels initialised (model_free it). */
model *shared_model(const char *relative);

/* The tokenizer of ../shared/relative and, in *file, the open file it reads from
 * (tokenizer_free, then gguf_close). */
tokenizer *shared_tokenizer(const char *relative, gguf_file **file);

/* ../shared/models/stories260K.gguf upcycled by `scarce upcycle` to 4 experts, top-2 (noise
 * 0), written to the test's tmpdir: its path, or NULL with the test skipped or failed. */
const char *shared_moe_model(void);

#endif
