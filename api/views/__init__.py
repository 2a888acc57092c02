"""API views: thin — load within the token's organization (404 otherwise), call one service."""
