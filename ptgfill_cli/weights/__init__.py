"""Model weights: the ptgfill format, the registry of named models, and resolving ``--model``.

- ``format``: the format's file names and reading a safetensors header, without torch.
- ``store``: saving and reading models (safetensors + config), building a generator that fits.
- ``authors``: reading and converting the authors' ``.pth`` checkpoints.
- ``torch_files``: reading any ``.pt``/``.pth`` file without running code (one-line errors).
- ``manifest``: the bundled registry of named models (``weights/manifest.json``).
- ``inventory``: which models are bundled, cached or missing; ptgfill files in the Hub cache.
- ``resolve``: ``--model`` values to files (``resolve_model_file``) and models (``load_model``).

Hub access itself is ``ptgfill_cli.hub``. Nothing is imported here, to keep imports cheap.
"""
