"""How the OpenAPI schema describes the token authentication (loaded in ApiConfig.ready)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class TokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.TokenAuthentication"
    name = "token"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An organization API token (adc_live_…), created under Admin Center › API tokens.",
        }


# OpenAPI links: where an id returned by a create can be used next. Clients (and schemathesis'
# stateful tests) follow them from one operation to the next.
_ID = {"id": "$response.body#/id"}
LINKS = {
    ("/api/v1/domains", "post", "201"): {
        "GetDomain": "domains_get",
        "ChangeDomain": "domains_change",
        "VerifyDomain": "domains_verify",
        "DomainHtmlFile": "domains_html_file",
        "DeleteDomain": "domains_delete",
    },
    ("/api/v1/users", "post", "201"): {
        "GetUser": "users_get",
        "ChangeUserRole": "users_change_role",
        "RemoveUser": "users_remove",
    },
    ("/api/v1/import-jobs", "post", "201"): {
        "GetImportJob": "import_jobs_get",
        "ImportJobRows": "import_jobs_rows",
        "ImportJobCsv": "import_jobs_csv",
        "NotifyImportJob": "import_jobs_notify",
        "StartImportJob": "import_jobs_start",
        "CheckImportJobForNewUsers": "import_jobs_check_new_users",
    },
}


def add_links(result, generator, request, public):
    """drf-spectacular postprocessing hook: declare LINKS on the create responses."""
    for (path, method, status), links in LINKS.items():
        response = result["paths"][path][method]["responses"][status]
        response["links"] = {name: {"operationId": operation, "parameters": _ID} for name, operation in links.items()}
    return result
