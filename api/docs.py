"""The API's human docs: Swagger UI from the vendored drf-spectacular-sidecar files.

drf-spectacular's split view already serves its start-up script as a separate request
(`?script`), so the page needs no inline script; our template replaces the stock page's inline
<style> with a static file. The console's strict CSP (script-src/style-src 'self') applies
unchanged: Swagger UI sets its dynamic styles through the DOM (CSSOM), which CSP allows.
"""

from drf_spectacular.views import SpectacularSwaggerSplitView


class DocsView(SpectacularSwaggerSplitView):
    template_name = "api/docs.html"
    title = "Admin Center API"
