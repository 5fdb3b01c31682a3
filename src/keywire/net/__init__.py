"""Network plumbing shared by every probe: name resolution and bounded HTTP exchanges."""
