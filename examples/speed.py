#!/usr/bin/env python3
"""speed.py - tokens/s and GB/s of a model through libscarce.so (ctypes, no build step).

    python3 examples/speed.py MODEL.gguf [PROMPT] [N_TOKENS] [LIBSCARCE]

Generates greedily and prints the text, then the prompt and decode rates and the memory
bandwidth decode achieved (the numbers of `scarce run`; docs/numbers.md explains them).
"""
import ctypes as C
import os
import sys


class Stats(C.Structure):  # scarce_stats in include/scarce.h, field for field
    _fields_ = [("prompt_tokens", C.c_uint64), ("decode_tokens", C.c_uint64),
                ("t_prompt_s", C.c_double), ("t_decode_s", C.c_double),
                ("prompt_tok_s", C.c_double), ("decode_tok_s", C.c_double),
                ("weight_bytes_per_token", C.c_double), ("kv_bytes_per_token", C.c_double),
                ("flops_per_token", C.c_double), ("achieved_gb_s", C.c_double),
                ("peak_gb_s", C.c_double), ("pct_of_peak", C.c_double),
                ("fits_in_cache", C.c_int), ("threads_prefill", C.c_double),
                ("threads_decode", C.c_double), ("n_expert", C.c_int),
                ("n_expert_used", C.c_int), ("moe_active_bytes_per_token", C.c_uint64),
                ("spec_passes", C.c_uint64), ("spec_drafted", C.c_uint64),
                ("spec_accepted", C.c_uint64), ("spec_emitted", C.c_uint64),
                ("t_forward_prompt_s", C.c_double), ("t_matmul_prompt_s", C.c_double),
                ("t_attention_prompt_s", C.c_double), ("t_forward_decode_s", C.c_double),
                ("t_matmul_decode_s", C.c_double), ("t_attention_decode_s", C.c_double),
                ("model_bytes", C.c_uint64), ("llc_bytes", C.c_uint64),
                ("prompt_weight_bytes_per_token", C.c_double),
                ("prompt_kv_bytes_per_token", C.c_double), ("prompt_flops_per_token", C.c_double),
                ("decode_weight_bytes_per_token", C.c_double),
                ("decode_kv_bytes_per_token", C.c_double), ("decode_flops_per_token", C.c_double)]


class ModelParams(C.Structure):  # scarce_model_params, field for field
    _fields_ = [("n_threads", C.c_int), ("isa", C.c_char_p), ("repack", C.c_int),
                ("vocab_only", C.c_int), ("gemm", C.c_char_p), ("fixed_threads", C.c_int),
                ("static_rows", C.c_int), ("lut", C.c_char_p), ("wait_workers", C.c_int)]


class ContextParams(C.Structure):
    _fields_ = [("n_ctx", C.c_int), ("temp", C.c_float), ("top_k", C.c_int),
                ("top_p", C.c_float), ("min_p", C.c_float), ("seed", C.c_uint64)]


CALLBACK = C.CFUNCTYPE(C.c_int, C.c_void_p, C.c_int32, C.POINTER(C.c_char), C.c_size_t)


def load(path):
    lib = C.CDLL(path)
    lib.scarce_model_default_params.restype = ModelParams
    lib.scarce_context_default_params.restype = ContextParams
    lib.scarce_model_open.argtypes = [C.c_char_p, C.POINTER(ModelParams), C.POINTER(C.c_void_p),
                                      C.c_char_p, C.c_size_t]
    lib.scarce_model_close.argtypes = [C.c_void_p]
    lib.scarce_model_error.argtypes = [C.c_void_p]
    lib.scarce_model_error.restype = C.c_char_p
    lib.scarce_context_new.argtypes = [C.c_void_p, C.POINTER(ContextParams), C.POINTER(C.c_void_p)]
    lib.scarce_context_free.argtypes = [C.c_void_p]
    lib.scarce_context_error.argtypes = [C.c_void_p]
    lib.scarce_context_error.restype = C.c_char_p
    lib.scarce_generate.argtypes = [C.c_void_p, C.c_char_p, C.c_int, CALLBACK, C.c_void_p,
                                    C.POINTER(C.c_int)]
    lib.scarce_context_stats.argtypes = [C.c_void_p, C.POINTER(Stats)]
    lib.scarce_status_name.restype = C.c_char_p
    return lib


def main(argv):
    if len(argv) < 2:
        sys.exit("usage: speed.py MODEL.gguf [PROMPT] [N_TOKENS] [LIBSCARCE]")
    prompt = argv[2] if len(argv) > 2 else "Once upon a time"
    n_predict = int(argv[3]) if len(argv) > 3 else 64
    here = os.path.dirname(os.path.abspath(__file__))
    lib = load(argv[4] if len(argv) > 4 else os.path.join(here, "..", "libscarce.so"))

    mp = lib.scarce_model_default_params()
    model, err = C.c_void_p(), C.create_string_buffer(512)
    if lib.scarce_model_open(argv[1].encode(), C.byref(mp), C.byref(model), err, len(err)):
        sys.exit("speed.py: " + err.value.decode())
    cp = lib.scarce_context_default_params()
    cp.temp = 0.0
    ctx = C.c_void_p()
    if lib.scarce_context_new(model, C.byref(cp), C.byref(ctx)):
        sys.exit("speed.py: " + lib.scarce_model_error(model).decode())

    pieces = []
    on_token = CALLBACK(lambda user, token, piece, n: pieces.append(piece[:n]) or 0)
    n_gen = C.c_int()
    rc = lib.scarce_generate(ctx, prompt.encode(), n_predict, on_token, None, C.byref(n_gen))
    if rc:
        sys.exit("speed.py: %s: %s" % (lib.scarce_status_name(rc).decode(),
                                       lib.scarce_context_error(ctx).decode()))
    st = Stats()
    lib.scarce_context_stats(ctx, C.byref(st))
    print(prompt + b"".join(pieces).decode("utf-8", "replace"))
    print("prompt: %d tokens, %.1f tok/s" % (st.prompt_tokens, st.prompt_tok_s))
    print("decode: %d tokens, %.1f tok/s, %.2f GB/s (%.2f MB of weights per token, %.1f threads)"
          % (st.decode_tokens, st.decode_tok_s, st.achieved_gb_s,
             st.weight_bytes_per_token / 1e6, st.threads_decode))
    if st.fits_in_cache:
        print("the model fits in the last-level cache: no % of DRAM peak")
    elif st.pct_of_peak >= 0:
        print("%.0f%% of the measured peak %.2f GB/s" % (st.pct_of_peak, st.peak_gb_s))
    lib.scarce_context_free(ctx)
    lib.scarce_model_close(model)


if __name__ == "__main__":
    main(sys.argv)
