"""OpenTimelineIO: clip listing, selection, exact time, relinking, placement of Foley, export."""
