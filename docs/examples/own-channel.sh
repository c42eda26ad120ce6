docker run -d --name mailer --read-only -v ./examples/channels:/plugins:ro -e CH2_PAGER_URL=https://pager.example/v1/events -e CH2_PAGER_TOKEN=change-me-0123456789 ch2/mailer:latest --channel-module /plugins/pager.mjs
docker logs mailer
# CH2 Example Mailer has started.
