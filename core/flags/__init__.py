"""Feature flags: a release is a deploy too — flags that obey the line, evaluated by OFREP."""
