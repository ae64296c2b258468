"""Prints the requirements of the installed litellm for its `proxy` extra, one per line.

litellm (every release from 1.103.x up, the pinned one included) requires
certifi>=2026.10.19, a release this machine's PyPI does not carry; certifi only
supplies the CA bundle, so its floor is dropped and everything else is kept as
litellm declares it.
"""
from importlib.metadata import requires

from pip._vendor.packaging.requirements import Requirement

for line in requires("litellm") or []:
    req = Requirement(line)
    if req.marker is not None and not req.marker.evaluate({"extra": "proxy"}):
        continue
    extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
    specifier = "" if req.name == "certifi" else str(req.specifier)
    print(f"{req.name}{extras}{specifier}")
