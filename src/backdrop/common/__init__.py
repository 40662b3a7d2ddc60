"""Small helpers both the server and the client package use; they import nothing of either."""
