"""Lead capture: public lead forms (services.py) and lead scoring with routing (scoring.py)."""
