"""The Bulk User Import's background work, queued by name through console.queue on commit."""

from console.queue import on_commit

BUILD_REPORT = "imports.build_report"
RUN_IMPORT = "imports.run_import"
SEND_NOTICES = "imports.send_notices"

__all__ = ["BUILD_REPORT", "RUN_IMPORT", "SEND_NOTICES", "on_commit"]
