"""One router per feature; thin: parse, call a service, shape the answer."""
