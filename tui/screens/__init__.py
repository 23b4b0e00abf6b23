"""One module per screen; dialogs are ModalScreens."""
