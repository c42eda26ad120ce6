# Stand-in for nginx:latest, built by scripts/images.sh when the image cannot be pulled:
# Debian's nginx on the debian:bookworm-slim (stand-in) base, set up like the official image
# (logs to the container's stdout/stderr with startup notices, default page on port 80,
# graceful stop on SIGQUIT).
FROM debian:bookworm-slim
LABEL org.ch2.standin="nginx:latest"
# policy-rc.d keeps the package scripts from starting nginx inside the build container.
RUN set -eux; \
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; \
    apt-get update; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx; \
    rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d; \
    ln -sf /dev/stdout /var/log/nginx/access.log; \
    ln -sf /dev/stderr /var/log/nginx/error.log; \
    sed -i 's|^error_log .*|error_log /var/log/nginx/error.log notice;|' /etc/nginx/nginx.conf; \
    nginx -t
EXPOSE 80
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
