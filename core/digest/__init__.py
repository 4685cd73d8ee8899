"""The weekly digest: the week's stops, investments, deploys, pages and CI, beside the week
before."""
