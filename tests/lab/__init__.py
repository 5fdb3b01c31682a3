"""Test lab: real servers on 127.0.0.1 for every check, plus hostile raw-socket servers."""
