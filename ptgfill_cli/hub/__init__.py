"""Access to the Hugging Face Hub, knowing nothing of ptgfill's model format.

- ``spec``: parsing ``hf://owner/repo[/file][@revision]``.
- ``cache``: where Hub downloads go, what is cached, and torch.hub's checkpoint folder.
- ``download``: the endpoint, the offline rule, fetching and verifying files, file hashes.

The model format and registry built on it live in ``ptgfill_cli.weights``. Nothing is
imported here so that ``import ptgfill_cli.hub`` stays cheap.
"""
