"""Files attached to a notice (decision letters), loaded by reference when the notice is sent."""


def load_attachments(notice):
    """(filename, mimetype, bytes) for each attachment reference of the notice."""
    result = []
    for ref in notice.attachments or []:
        loader = LOADERS.get(ref.get("type"))
        if loader is None:
            raise LookupError(f"unknown attachment type {ref.get('type')!r}")
        result.append(loader(ref))
    return result


# Filled by the modules that own attachable documents: {"type": callable(ref) -> (name, mime, bytes)}.
LOADERS = {}
