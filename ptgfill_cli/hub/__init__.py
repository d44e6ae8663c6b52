"""Model weights: where they come from and how they are stored.

- ``manifest``: the bundled registry of named models (``weights/manifest.json``).
- ``store``: the ptgfill on-disk format (safetensors + config): saving and reading.
- ``layout``: the format's file names and constants, without torch.
- ``header``: reading a safetensors header without torch.
- ``fit``: building a generator from a state dict, checking it fits the config.
- ``authors``: reading and converting the authors' ``.pth`` checkpoints.
- ``spec``: parsing ``hf://owner/repo[/file][@revision]``.
- ``cache``: where Hub downloads go, and what is cached.
- ``download``: the Hub endpoint, offline mode, fetching and verifying.
- ``integrity``: file hashes.
- ``inventory``: which manifest models are bundled, cached or missing.
- ``resolve``: ``--model`` values to files (``resolve_model_file``) and models (``load_model``).

Nothing is imported here so that ``import ptgfill_cli.hub`` stays cheap.
"""
