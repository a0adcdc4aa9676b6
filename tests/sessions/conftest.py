from tests.security.support import backend, backend_config, key_prefix, memory_app, secure_app

__all__ = ["backend", "backend_config", "key_prefix", "memory_app", "secure_app"]
