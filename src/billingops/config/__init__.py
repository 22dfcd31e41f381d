"""Configuration: environments (prod/staging/dev) x clouds (aws/gcp).

Precedence: command-line flags > environment variables > billingops.toml > defaults. The file is found
through --config, then BILLINGOPS_CONFIG, then by walking up from the working directory. Everything is
resolved once into frozen dataclasses that the commands receive.
"""

from __future__ import annotations

from billingops.config.discovery import find_config
from billingops.config.environments import (
    CLOUDS,
    CONFIG_FILENAME,
    DEFAULT_SECRETS,
    ENV_PROFILES,
    ENVIRONMENTS,
    GCP_API_NAMES,
    MIGRATION_MODES,
    SECRET_SOURCES,
    EnvConfig,
    SecretSpec,
)
from billingops.config.knobs import (
    DURATION_FORMS,
    SECRET_ENV_PREFIX,
    Tunables,
    environ_secret,
    parse_duration,
    parse_number,
    tunables,
)
from billingops.config.loading import Settings, load_settings

# Callers import from here; the parts live in environments.py (the model and one environment resolved),
# discovery.py (finding the file), loading.py (reading and checking it) and knobs.py (BILLINGOPS_* knobs and
# the one duration/number syntax).
__all__ = ["CLOUDS", "CONFIG_FILENAME", "DEFAULT_SECRETS", "DURATION_FORMS", "ENVIRONMENTS", "ENV_PROFILES",
           "GCP_API_NAMES", "MIGRATION_MODES", "SECRET_ENV_PREFIX", "SECRET_SOURCES", "EnvConfig", "SecretSpec",
           "Settings", "Tunables", "environ_secret", "find_config", "load_settings", "parse_duration",
           "parse_number", "tunables"]
