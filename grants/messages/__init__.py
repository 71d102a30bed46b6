"""Messages on a case (meldinger): the kommune and IMDi write to each other about an application, before and after
its decision; IMDi's caseworkers may ask for more information by a date, and keep internal notes the kommune never
sees. Sits on the decisions, whose impartiality declarations close its doors too (.importlinter); every new message
is noticed by e-mail through the outbox."""
