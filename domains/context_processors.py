from domains import rules


def domain_rules(request):
    """{{ domain_rules.recheck_hours }} and the other lifecycle numbers, for the pages' prose."""
    return {"domain_rules": rules.as_context()}
