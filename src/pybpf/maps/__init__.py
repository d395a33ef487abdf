"""Maps: the bpf() map model (:mod:`.spec` describes, the map classes hold data)."""

from .spec import MapFlags, MapSpec, MapType, Pinning

__all__ = ["MapFlags", "MapSpec", "MapType", "Pinning"]
