from django.apps import AppConfig


class ConfigConfig(AppConfig):
    """Registered only for its management commands (run_console, load_demo_data)."""

    name = "config"
    verbose_name = "Admin Center"
