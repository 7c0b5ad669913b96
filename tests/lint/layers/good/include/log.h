/* fixture: a core header */
