"""Lambda entry points: parse the event into its typed payload, call the domain, shape the response."""
