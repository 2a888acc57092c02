from django.apps import AppConfig


class ConfigConfig(AppConfig):
    """Registered for its management commands (run_console, load_demo_data), its system checks,
    and to load every app's tasks once all apps are ready."""

    name = "config"
    verbose_name = "Admin Center"

    def ready(self):
        from django.utils.module_loading import autodiscover_modules

        from config import checks  # noqa: F401  (registers the production checks)
        from config.observability import connect_task_signals

        connect_task_signals()

        # Services queue tasks by name (console.queue): every process, not only workers, must
        # know them, so each app's tasks module is imported once all apps are ready.
        autodiscover_modules("tasks")
