"""eventflow: user events from the app's servers, validated, stored and followed up."""
