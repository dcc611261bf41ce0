from sources.portfolio.registry import Registry, RegistryError, load_registry

__all__ = ["Registry", "RegistryError", "load_registry"]
