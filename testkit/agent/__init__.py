"""The agent's real peers on loopback and its steps run as the template declares them:
shared by tests/agent and ``make demo`` (:mod:`testkit.agent.demo`)."""
