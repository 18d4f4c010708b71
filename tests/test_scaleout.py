"""README's scale-out recipe, tested: two `caseflag serve` hosts (nginx and gunicorn each) on
loopback sharing one Redis, with this test as the load balancer (round robin, X-Forwarded-For)."""

import json

from test_serving import RedisServer, Served


def test_two_servers_share_one_redis_for_the_cache_and_the_limits(dns):
    redis = RedisServer()
    common = {"CASEFLAG_REDIS_URL": redis.url, "CASEFLAG_RATE_LIMIT": "4/minute",
              "CASEFLAG_TRUSTED_PROXIES": "127.0.0.0/8, ::1"}
    first = Served(dns, workers=1, **common)
    try:
        second = Served(dns, workers=1, **common)
        try:
            status, body = first.get("/api/v1/check?domain=www.cf-shop.com", headers={"X-Forwarded-For": "192.0.2.1"})
            assert status == 200 and json.loads(body)["cached"] is False
            dns.clear()
            status, body = second.get("/api/v1/check?domain=www.cf-shop.com", headers={"X-Forwarded-For": "192.0.2.2"})
            answer = json.loads(body)
            assert status == 200 and answer["cached"] is True, "the second host answers from the shared cache"
            assert answer["infrastructure"]["providers"][0]["id"] == "cloudflare"
            assert "www.cf-shop.com" not in dns.names_asked()
            # One client through the balancer, its requests alternating between the hosts: one count.
            path, client = "/api/v1/check?domain=thepiratebay.org", {"X-Forwarded-For": "198.51.100.7"}
            statuses = [(first if n % 2 == 0 else second).get(path, headers=client)[0] for n in range(6)]
            assert statuses == [200, 200, 200, 200, 429, 429], statuses
        finally:
            second.stop()
    finally:
        first.stop()
        redis.kill()
